"""The result of one prediction (what the ROS node publishes as `RssiEstimate`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Estimate:
    """RSSI = -(PL + SH) in dB, with the geometry and the inputs that produced it.

    `modalities` is the bit mask of the modalities the model USED for this sample (1 position,
    2 image, 4 boxes): available in the sample AND supported by the model.
    """

    rssi_db: float
    path_loss_db: float
    shadow_fading_db: float
    path_loss_exponent: float
    distance_m: float
    east_m: float
    north_m: float
    tx_in_view: bool
    num_boxes: int
    modalities: int
    model_id: str
    backend: str

    def to_dict(self) -> dict:
        return asdict(self)
