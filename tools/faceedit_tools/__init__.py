"""Python helpers for faceedit's checkpoint tools (converters, safetensors I/O, references).

Runs under Debian's /usr/bin/python3 (torch + numpy); no other third-party packages.
"""


class ToolError(Exception):
    """An expected failure (bad input, unsupported model...): reported as one `error: ...` line."""
