"""NavSatFix validation: only fixes a model should trust pass; each rejection names its reason."""

from __future__ import annotations

import math

import pytest
import sensor_msgs.msg as sensor_msgs

from rssi_ros.ros import reasons
from rssi_ros.ros.fix_validation import FixLimits, check_fix, stamp_ns
from rssi_ros.ros.reasons import InputError


def _fix(lat=33.42, lon=-111.93, alt=350.0, status=0, cov_type=0, cov=None, sec=1_700_000_000, nsec=5):
    msg = sensor_msgs.NavSatFix()
    msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nsec
    msg.status.status = status
    msg.latitude, msg.longitude, msg.altitude = lat, lon, alt
    msg.position_covariance_type = cov_type
    if cov is not None:
        msg.position_covariance = cov
    return msg


def _reason(msg, limits: FixLimits | None = None) -> str:
    with pytest.raises(InputError) as info:
        check_fix(msg, limits or FixLimits())
    return info.value.reason


def test_a_good_fix_passes_with_exact_values_and_stamp():
    fix = check_fix(_fix(), FixLimits())
    assert (fix.lat, fix.lon, fix.alt) == (33.42, -111.93, 350.0)
    assert fix.stamp_ns == 1_700_000_000_000_000_005  # exact, no float rounding
    assert math.isnan(fix.horizontal_std_m)


def test_stamp_ns_is_exact_for_large_times():
    class T:
        sec, nanosec = 2_000_000_000, 999_999_999

    assert stamp_ns(T) == 2_000_000_000_999_999_999


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"status": -1}, reasons.NO_FIX),
        ({"lat": math.nan}, reasons.NON_FINITE),
        ({"lon": math.inf}, reasons.NON_FINITE),
        ({"lat": -math.inf}, reasons.NON_FINITE),
        ({"alt": math.inf}, reasons.NON_FINITE),
        ({"lat": 90.5}, reasons.OUT_OF_RANGE),
        ({"lon": -180.01}, reasons.OUT_OF_RANGE),
        ({"sec": 0, "nsec": 0}, reasons.ZERO_STAMP),
        ({"cov_type": 2, "cov": [400.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]}, reasons.COVARIANCE),  # 20 m east
        ({"cov_type": 1, "cov": [1.0, 0, 0, 0, math.nan, 0, 0, 0, 1.0]}, reasons.COVARIANCE),
        ({"cov_type": 3, "cov": [-1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]}, reasons.COVARIANCE),
    ],
)
def test_unusable_fixes_are_rejected_with_their_reason(kwargs, reason):
    assert _reason(_fix(**kwargs)) == reason


def test_nan_altitude_means_unknown_and_is_accepted():
    assert math.isnan(check_fix(_fix(alt=math.nan), FixLimits()).alt)


def test_covariance_limit_is_a_parameter_and_unknown_covariance_is_not_checked():
    cov = [81.0, 0, 0, 0, 64.0, 0, 0, 0, 1.0]  # 9 m std east
    assert check_fix(_fix(cov_type=2, cov=cov), FixLimits(10.0)).horizontal_std_m == pytest.approx(9.0)
    assert _reason(_fix(cov_type=2, cov=cov), FixLimits(8.0)) == reasons.COVARIANCE
    assert check_fix(_fix(cov_type=2, cov=cov), FixLimits(0.0)).horizontal_std_m == pytest.approx(9.0)
    # Type UNKNOWN: the numbers mean nothing, even huge ones.
    assert check_fix(_fix(cov_type=0, cov=[1e9] * 9), FixLimits(1.0)).lat == 33.42


def test_unknown_status_policy():
    assert check_fix(_fix(status=-2), FixLimits(accept_unknown_status=True)).lat == 33.42
    assert _reason(_fix(status=-2), FixLimits(accept_unknown_status=False)) == reasons.NO_FIX
    for status in (0, 1, 2):  # FIX, SBAS_FIX, GBAS_FIX
        assert check_fix(_fix(status=status), FixLimits(accept_unknown_status=False)).lat == 33.42
