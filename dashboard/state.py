"""Every session-state key the dashboard uses, defined once."""

from typing import Final

SELECTED_MODEL: Final = "selected_model"
CONFIRM_ROLLBACK: Final = "confirm_rollback"
FLASH: Final = "flash_message"
COMPARE_A: Final = "compare_a"
COMPARE_B: Final = "compare_b"
PROMOTE_VERSION: Final = "promote_version"
PROMOTE_ALIAS: Final = "promote_alias"
PROMOTE_REASON: Final = "promote_reason"
ROLLBACK_REASON: Final = "rollback_reason"
TRAFFIC_SHARE: Final = "traffic_share"
TRAFFIC_SHADOW: Final = "traffic_shadow"
