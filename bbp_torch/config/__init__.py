"""The configuration of both apps (split into schema, validation and resources next)."""

from bbp_torch.config.validate import *  # noqa: F401,F403
