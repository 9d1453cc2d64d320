"""Why an input was rejected or an image was not answered: the keys of the diagnostics counters.

Every drop in the node names one of these, so the counters in `/diagnostics` add up
(received = answered + skipped by reason + pending) and an operator can tell a bad camera
driver from a stale GPS at a glance. `INTERNAL_ERROR` is the one reason that means a bug in the
node rather than a bad input: an exception nobody anticipated, caught so the node stays up.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input message that cannot be used; `reason` is a counter key, the text says what was wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# Any message: header stamp problems (judged against the node clock, or unset).
ZERO_STAMP = "zero_stamp"
STAMP_FUTURE = "stamp_future"
STAMP_TOO_OLD = "stamp_too_old"

# Images.
EMPTY_IMAGE = "empty_image"
UNSUPPORTED_ENCODING = "unsupported_encoding"
STEP_MISMATCH = "step_mismatch"
SIZE_MISMATCH = "size_mismatch"
IMAGE_TOO_LARGE = "image_too_large"
DECODE_FAILED = "decode_failed"
ODD_WIDTH = "odd_width"  # packed YUV 4:2:2 holds two pixels per 4 bytes

# NavSatFix.
NO_FIX = "no_fix"
NON_FINITE = "non_finite"
OUT_OF_RANGE = "out_of_range"
COVARIANCE = "covariance_too_large"

# Detection arrays.
TOO_MANY_DETECTIONS = "too_many_detections"
BAD_IMAGE_SIZE = "bad_image_size"

# Frames (an image that could not be answered).
NO_MODEL = "no_model"
NO_TX_FIX = "no_tx_fix"
NO_RX_FIX = "no_rx_fix"
STALE_TX_FIX = "stale_tx_fix"
STALE_RX_FIX = "stale_rx_fix"
INFERENCE_FAILED = "inference_failed"
INACTIVE = "inactive"

# Any stream: an unexpected exception while handling the message (logged with its traceback).
INTERNAL_ERROR = "internal_error"
