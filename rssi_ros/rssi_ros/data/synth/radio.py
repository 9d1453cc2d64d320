"""Received 60 GHz power of the basestation's 64 beams, frame by frame.

Per frame, the power reaching the array (dB of the files' linear unit) is

    S = P_ref - 10 n log10(max(d, d_min)) - sum_objects L_class * covered_fraction + X(position) + delta_drive

with d the geodesic distance (the same quantity the label uses), L_class the loss of an object
that covers the whole first Fresnel zone, covered_fraction the share of rays through that zone
the object's boxes cut, X a spatially correlated log-normal shadowing field over the Tx position,
and delta_drive an offset per drive (transmit power, antenna orientation) that no input reveals.
Beam b receives S * g_b(azimuth) + N0, times i.i.d. log-normal measurement noise, where the
codebook's gains are normalised to a mean of one over the beams: the mean of the 64 beams - the
RSSI label - is then exactly S (+ N0) before noise, so the scene's path-loss exponent is what a
fit of the label recovers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.synth.config import RadioConfig
from rssi_ros.data.synth.geometry import disc_samples, rotate_xy, segment_hits_box
from rssi_ros.data.synth.rng import Stream, stream
from rssi_ros.data.synth.scene import Actor, Drive, ScenePlan
from rssi_ros.physics.db import db_to_linear

FRESNEL_T_LIMIT = 1e-3  # keeps the sampled zone's centre strictly between the two antennas
MIN_MEAN_GAIN = 1e-12


@dataclass(frozen=True)
class BeamCodebook:
    """A uniform linear array with half-wavelength spacing steered to evenly spaced angles.

    Beam 1 points furthest left of the heading (counter-clockwise), beam `num_beams` furthest right,
    so beam numbers grow with compass azimuth like the DeepSense codebook.
    """

    num_beams: int
    num_elements: int
    span_deg: float

    @property
    def steering_deg(self) -> NDArray[np.float64]:
        return np.linspace(-self.span_deg / 2.0, self.span_deg / 2.0, self.num_beams)

    def gains(self, azimuth_deg: NDArray[np.float64]) -> NDArray[np.float64]:
        """(..., num_beams) power gains at azimuths relative to boresight, normalised to mean 1."""
        k = np.arange(self.num_elements)
        sin_t = np.sin(np.radians(np.asarray(azimuth_deg, dtype=np.float64)))[..., None, None]
        sin_b = np.sin(np.radians(self.steering_deg))[:, None]
        af = np.exp(1j * math.pi * k * (sin_t - sin_b)).sum(axis=-1)
        g = (af.real**2 + af.imag**2) / self.num_elements
        return g / np.maximum(g.mean(axis=-1, keepdims=True), MIN_MEAN_GAIN)


@dataclass(frozen=True)
class ShadowingField:
    """A smooth Gaussian random field over east/north (random Fourier features of a Gaussian kernel).

    Covariance std^2 exp(-|dx|^2 / (2 l^2)); fixed per scene, so one place always shadows alike.
    """

    std_db: float
    wavevectors: NDArray[np.float64]  # (M, 2) rad/m
    phases: NDArray[np.float64]  # (M,)

    @classmethod
    def draw(cls, seed: int, config: RadioConfig) -> ShadowingField:
        rng = stream(seed, Stream.SHADOWING)
        m = config.shadowing_components
        w = rng.standard_normal((m, 2)) / config.shadowing_correlation_m
        return cls(config.shadowing_std_db, w, rng.uniform(0.0, 2.0 * math.pi, m))

    def __call__(self, enu: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.std_db == 0:
            return np.zeros(np.shape(enu)[:-1])
        m = len(self.phases)
        arg = np.asarray(enu, dtype=np.float64) @ self.wavevectors.T + self.phases
        return self.std_db * math.sqrt(2.0 / m) * np.cos(arg).sum(axis=-1)


@dataclass
class DriveRadio:
    """Radio truth of one drive's frames (arrays over frames)."""

    distance_m: NDArray[np.float64]
    azimuth_deg: NDArray[np.float64]  # relative to the heading, positive to the right
    path_loss_db: NDArray[np.float64]
    blockage_db: NDArray[np.float64]
    shadowing_db: NDArray[np.float64]
    drive_offset_db: float
    signal_db: NDArray[np.float64]  # S, the power reaching the array (mean over beams, no floor)
    powers: NDArray[np.float64]  # (F, num_beams) linear, what the files hold
    rssi_db: NDArray[np.float64]  # 10 log10 mean of `powers`
    clean_rssi_db: NDArray[np.float64]  # the same without measurement noise and drive offset
    coverage: dict[int, NDArray[np.float64]] = field(default_factory=dict)  # actor id -> (F,)

    @property
    def beam_index(self) -> NDArray[np.int64]:
        """1-based index of the strongest beam (the official `unit1_beam_index`)."""
        return self.powers.argmax(axis=-1) + 1


def relative_azimuth_deg(enu: NDArray[np.float64], heading_deg: float) -> NDArray[np.float64]:
    az = np.degrees(np.arctan2(enu[..., 0], enu[..., 1]))
    return (az - heading_deg + 180.0) % 360.0 - 180.0


def fresnel_coverage(
    rx: NDArray[np.float64],
    tx: NDArray[np.float64],
    actor: Actor,
    times: NDArray[np.float64],
    wavelength_m: float,
    samples: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Share (F,) of rays through the first Fresnel zone that the actor's boxes cut.

    Each ray runs basestation -> a point of the zone's cross-section at the part -> transmitter;
    the points spread evenly over the disc, so the share approximates the covered area. An object
    whose boxes keep clear of the whole zone gets exactly 0.
    """
    n_frames = len(times)
    covered = np.zeros((n_frames, len(samples)), dtype=bool)
    link = tx - rx  # (F, 3)
    length = np.linalg.norm(link, axis=-1)
    direction = link / length[:, None]
    u = np.stack([direction[:, 1], -direction[:, 0], np.zeros(n_frames)], axis=-1)
    u /= np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-12)
    v = np.cross(u, direction)
    r_max = 0.5 * np.sqrt(wavelength_m * length)  # the zone is widest half-way
    centres2d = actor.position(times)  # (F, 2)
    parts = actor.parts
    offsets = rotate_xy(parts.offset, actor.yaw)  # (P, 3)
    radius = np.hypot(parts.half[:, 0], parts.half[:, 1])
    z_lo = np.minimum(rx[2], tx[:, 2]) - r_max
    z_hi = np.maximum(rx[2], tx[:, 2]) + r_max
    for p in range(len(parts)):
        centre = np.concatenate(
            [centres2d + offsets[p, :2], np.full((n_frames, 1), offsets[p, 2])], axis=-1
        )  # (F, 3)
        # Cheap rejection: too far from the ground track of the link or outside its heights.
        rel = centre - rx
        t_star = np.clip((rel * link).sum(-1) / length**2, FRESNEL_T_LIMIT, 1.0 - FRESNEL_T_LIMIT)
        closest = rx + t_star[:, None] * link
        dist2d = np.hypot(*(centre[:, :2] - closest[:, :2]).T)
        near = (dist2d <= radius[p] + r_max + 1e-6) & (centre[:, 2] - parts.half[p, 2] <= z_hi)
        near &= centre[:, 2] + parts.half[p, 2] >= z_lo
        idx = np.nonzero(near)[0]
        if idx.size == 0:
            continue
        ts = t_star[idx]
        r = np.sqrt(wavelength_m * length[idx] * ts * (1.0 - ts))
        pts = closest[idx, None, :] + r[:, None, None] * (
            samples[None, :, 0, None] * u[idx, None, :] + samples[None, :, 1, None] * v[idx, None, :]
        )  # (Fc, K, 3)
        c = centre[idx, None, :]
        half = parts.half[p]
        hit = segment_hits_box(np.broadcast_to(rx, pts.shape), pts, c, half, actor.yaw)
        hit |= segment_hits_box(pts, np.broadcast_to(tx[idx, None, :], pts.shape), c, half, actor.yaw)
        covered[idx] |= hit
    return covered.mean(axis=-1)


def simulate_drive(
    plan: ScenePlan,
    drive: Drive,
    tx_enu: NDArray[np.float64],
    distance_m: NDArray[np.float64],
    shadowing: ShadowingField,
) -> DriveRadio:
    """Beam powers of one drive's frames; measurement noise is keyed by global frame number."""
    cfg = plan.config.radio
    n = drive.n_frames
    rx = np.array([0.0, 0.0, cfg.rx_height_m])
    tx = np.concatenate([tx_enu, np.full((n, 1), plan.config.drive.tx_antenna_height_m)], axis=-1)
    samples = disc_samples(cfg.fresnel_samples)
    blockage = np.zeros(n)
    coverage: dict[int, NDArray[np.float64]] = {}
    for actor in drive.actors:
        cov = fresnel_coverage(rx, tx, actor, drive.times, cfg.wavelength_m, samples)
        if np.any(cov > 0):
            coverage[actor.actor_id] = cov
            # Adding 0.0 for frames the actor does not cut leaves the sum bit-identical.
            blockage = blockage + cfg.blockage_loss_db[actor.class_name] * cov
    blockage = np.minimum(blockage, cfg.max_blockage_db)

    path_loss = 10.0 * cfg.path_loss_exponent * np.log10(np.maximum(distance_m, cfg.min_distance_m))
    shadow = shadowing(tx_enu)
    offset = float(stream(plan.seed, Stream.RADIO_DRIVE, drive.seq_index).normal(0.0, 1.0))
    offset *= cfg.drive_offset_std_db
    clean_signal = cfg.reference_power_db - path_loss - blockage + shadow
    signal = clean_signal + offset
    azimuth = relative_azimuth_deg(tx_enu, plan.config.site.heading_deg)
    gains = BeamCodebook(cfg.num_beams, cfg.num_elements, cfg.beam_span_deg).gains(azimuth)
    floor = 0.0 if cfg.noise_floor_db is None else float(db_to_linear(cfg.noise_floor_db))
    clean = db_to_linear(signal)[:, None] * gains + floor
    noise_db = np.stack(
        [stream(plan.seed, Stream.MEASUREMENT, f).standard_normal(cfg.num_beams) for f in drive.frame_indices]
    )
    powers = clean * db_to_linear(cfg.measurement_noise_db * noise_db)
    rssi = 10.0 * np.log10(powers.mean(axis=-1))
    clean_rssi = 10.0 * np.log10(db_to_linear(clean_signal) + floor)
    return DriveRadio(
        distance_m=np.asarray(distance_m, dtype=np.float64),
        azimuth_deg=azimuth,
        path_loss_db=path_loss,
        blockage_db=blockage,
        shadowing_db=shadow,
        drive_offset_db=offset,
        signal_db=signal,
        powers=powers,
        rssi_db=rssi,
        clean_rssi_db=clean_rssi,
        coverage=coverage,
    )
