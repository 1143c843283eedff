"""Python helpers for faceedit's checkpoint tools (converters, safetensors I/O, references).

Runs under Debian's /usr/bin/python3 (torch + numpy); no other third-party packages.
"""


class ToolError(Exception):
    """An expected failure (bad input, unsupported model...): reported as one `error: ...` line."""


def raise_if_problems(what, summary, problems):
    """Raises one ToolError listing the first five problems (and how many more) after `what: summary: `."""
    if problems:
        more = f' (and {len(problems) - 5} more)' if len(problems) > 5 else ''
        raise ToolError(f'{what}: {summary}: {"; ".join(problems[:5])}{more}')
