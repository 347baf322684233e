"""Provider usage objects -> disjoint token buckets.

Providers disagree on what `prompt_tokens` means, and that is where most cost bugs come
from. Every normaliser here returns a `Usage` whose buckets never overlap, so a cost is a
plain sum of bucket x rate:

- OpenAI chat / OurToken / OpenRouter: `prompt_tokens` *includes*
  `prompt_tokens_details.cached_tokens` (and `cache_write_tokens` where reported).
- OpenAI Responses API: `input_tokens` includes `input_tokens_details.cached_tokens`.
- DeepSeek native: `prompt_cache_hit_tokens + prompt_cache_miss_tokens == prompt_tokens`.
- Anthropic: `input_tokens` *excludes* `cache_read_input_tokens` and
  `cache_creation_input_tokens` (split into `cache_creation.ephemeral_5m_input_tokens` /
  `ephemeral_1h_input_tokens`).
- Gemini `usageMetadata`: `promptTokenCount` includes `cachedContentTokenCount`;
  `thoughtsTokenCount` is billed as output but is *not* part of `candidatesTokenCount`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pricing.errors import UsageError

__all__ = ["Usage", "normalize_usage"]


@dataclass(frozen=True)
class Usage:
    """Token counts in disjoint buckets; `reasoning_tokens` is the part of output spent reasoning."""

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    billed_cost: Decimal | None = None
    model: str | None = None
    shape: str = "canonical"
    # How many requests these tokens stand for (an export row per day, model and key): a
    # context tier is chosen from the prompt tokens per request, not from the row's sum.
    request_count: int = 1

    def __post_init__(self) -> None:
        for name in (
            "input_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "cache_write_1h_tokens",
            "output_tokens",
            "reasoning_tokens",
            "request_count",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(f"{name} must be a whole number, got {value!r}")
            if value < 0:
                raise UsageError(f"{name} is negative ({value}); counts cannot be below 0")
        if self.reasoning_tokens > self.output_tokens:
            raise UsageError(
                f"reasoning_tokens ({self.reasoning_tokens}) exceed output_tokens "
                f"({self.output_tokens}); reasoning is part of the output, not added to it"
            )

    @property
    def prompt_tokens(self) -> int:
        """Every prompt token, whichever bucket it is billed in (used for context tiers)."""
        return (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
            + self.cache_write_1h_tokens
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens


def _int(obj: Mapping[str, Any] | None, key: str) -> int:
    if not obj:
        return 0
    value = obj.get(key)
    if value is None:
        return 0
    if isinstance(value, bool):
        raise UsageError(f"usage field {key!r} must be a number, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if not isinstance(value, int):
        raise UsageError(f"usage field {key!r} must be a whole number, got {value!r}")
    return value


def _sub(total: int, total_name: str, parts: list[tuple[str, int]]) -> int:
    rest = total - sum(n for _, n in parts)
    if rest < 0:
        named = " + ".join(f"{name} ({n})" for name, n in parts)
        raise UsageError(
            f"{named} exceed {total_name} ({total}): the input bucket would be {rest}; "
            "the usage object is inconsistent"
        )
    return rest


def _money(value: Any, key: str) -> Decimal | None:
    if value is None:
        return None
    try:
        # str() first: a JSON float such as 0.0012 becomes the decimal it was written as.
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as e:
        raise UsageError(f"billed cost {key!r} is not a number: {value!r}") from e


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _openai_chat(u: Mapping[str, Any], model: str | None) -> Usage:
    prompt = _int(u, "prompt_tokens")
    completion = _int(u, "completion_tokens")
    pdet = _dict(u.get("prompt_tokens_details"))
    cdet = _dict(u.get("completion_tokens_details"))
    if "prompt_cache_hit_tokens" in u or "prompt_cache_miss_tokens" in u:
        hit = _int(u, "prompt_cache_hit_tokens")
        miss = _int(u, "prompt_cache_miss_tokens")
        if "prompt_tokens" in u and hit + miss != prompt:
            raise UsageError(
                f"prompt_cache_hit_tokens ({hit}) + prompt_cache_miss_tokens ({miss}) "
                f"!= prompt_tokens ({prompt}); DeepSeek usage must add up"
            )
        cached, cache_write, input_tokens, shape = hit, 0, miss, "deepseek"
    else:
        cached = _int(pdet, "cached_tokens")
        cache_write = _int(pdet, "cache_write_tokens")
        input_tokens = _sub(
            prompt,
            "prompt_tokens",
            [("prompt_tokens_details.cached_tokens", cached),
             ("prompt_tokens_details.cache_write_tokens", cache_write)],
        )
        shape = "openai-chat"
    billed = _money(u.get("cost"), "usage.cost") if "cost" in u else None
    return Usage(
        input_tokens=input_tokens,
        cache_read_tokens=cached,
        cache_write_tokens=cache_write,
        output_tokens=completion,
        reasoning_tokens=_int(cdet, "reasoning_tokens"),
        billed_cost=billed,
        model=model,
        shape="openrouter" if billed is not None else shape,
    )


def _openai_responses(u: Mapping[str, Any], model: str | None) -> Usage:
    total_in = _int(u, "input_tokens")
    cached = _int(_dict(u.get("input_tokens_details")), "cached_tokens")
    return Usage(
        input_tokens=_sub(total_in, "input_tokens", [("input_tokens_details.cached_tokens", cached)]),
        cache_read_tokens=cached,
        output_tokens=_int(u, "output_tokens"),
        reasoning_tokens=_int(_dict(u.get("output_tokens_details")), "reasoning_tokens"),
        model=model,
        shape="openai-responses",
    )


def _anthropic(u: Mapping[str, Any], model: str | None) -> Usage:
    creation = _int(u, "cache_creation_input_tokens")
    split = _dict(u.get("cache_creation"))
    write_1h = _int(split, "ephemeral_1h_input_tokens")
    if split:
        write_5m = _int(split, "ephemeral_5m_input_tokens")
        if creation and write_5m + write_1h != creation:
            raise UsageError(
                f"cache_creation.ephemeral_5m_input_tokens ({write_5m}) + "
                f"ephemeral_1h_input_tokens ({write_1h}) != cache_creation_input_tokens ({creation})"
            )
    else:
        write_5m = creation
    return Usage(
        input_tokens=_int(u, "input_tokens"),
        cache_read_tokens=_int(u, "cache_read_input_tokens"),
        cache_write_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        output_tokens=_int(u, "output_tokens"),
        model=model,
        shape="anthropic",
    )


def _gemini(u: Mapping[str, Any], model: str | None) -> Usage:
    prompt = _int(u, "promptTokenCount") + _int(u, "toolUsePromptTokenCount")
    cached = _int(u, "cachedContentTokenCount")
    thoughts = _int(u, "thoughtsTokenCount")
    return Usage(
        input_tokens=_sub(prompt, "promptTokenCount", [("cachedContentTokenCount", cached)]),
        cache_read_tokens=cached,
        output_tokens=_int(u, "candidatesTokenCount") + thoughts,
        reasoning_tokens=thoughts,
        model=model,
        shape="gemini",
    )


def _canonical(u: Mapping[str, Any], model: str | None) -> Usage:
    return Usage(
        input_tokens=_int(u, "input_tokens"),
        cache_read_tokens=_int(u, "cache_read_tokens"),
        cache_write_tokens=_int(u, "cache_write_tokens"),
        cache_write_1h_tokens=_int(u, "cache_write_1h_tokens"),
        output_tokens=_int(u, "output_tokens"),
        reasoning_tokens=_int(u, "reasoning_tokens"),
        model=model,
    )


_ANTHROPIC_KEYS = ("cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation")
_CANONICAL_KEYS = ("cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")


# A bare usage object's shape, told by its keys: the first that matches reads it.
_SHAPES: tuple[tuple[Callable[[Mapping[str, Any]], bool], Callable[[Mapping[str, Any], Any], Usage]], ...] = (
    (lambda u: "promptTokenCount" in u or "candidatesTokenCount" in u, _gemini),
    (lambda u: any(k in u for k in _ANTHROPIC_KEYS), _anthropic),
    (lambda u: any(k in u for k in _CANONICAL_KEYS), _canonical),
    (lambda u: any(k in u for k in ("prompt_tokens", "completion_tokens", "prompt_cache_hit_tokens")),
     _openai_chat),
    (lambda u: "input_tokens" in u or "output_tokens" in u, _openai_responses),
)


def normalize_usage(body: Mapping[str, Any]) -> Usage:
    """Turn a whole response body, a log line or a bare usage object into a `Usage`.

    The shape is detected from its keys; see the module docstring for the semantics.
    """
    if not isinstance(body, Mapping):
        raise UsageError(f"expected a JSON object with usage, got {type(body).__name__}")
    model = body.get("model") if isinstance(body.get("model"), str) else None
    if isinstance(body.get("message"), Mapping) and "usage" in body["message"]:
        # Claude Code session log lines wrap the Anthropic message.
        return normalize_usage(body["message"])
    if isinstance(body.get("response"), Mapping):
        # {request, response} pairs as logged by gateways.
        return normalize_usage(body["response"])
    if isinstance(body.get("usageMetadata"), Mapping):
        model = model or body.get("modelVersion")
        return _gemini(body["usageMetadata"], model)
    if isinstance(body.get("usage"), Mapping):
        u = body["usage"]
        if body.get("type") == "message" and not any(k in u for k in ("prompt_tokens",)):
            return _anthropic(u, model)
    else:
        u = body
    for matches, reader in _SHAPES:
        if matches(u):
            return reader(u, model)
    raise UsageError(
        "no usage found: expected `usage` (OpenAI, DeepSeek, Anthropic, OpenRouter), "
        f"`usageMetadata` (Gemini) or token fields; got keys {sorted(u)[:12]!r}"
    )
