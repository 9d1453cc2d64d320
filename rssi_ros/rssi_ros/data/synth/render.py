"""Camera images of the scene: sky, ground, road and buildings, then every object as shaded boxes.

Objects are drawn far to near (painter's order) with back faces culled, each face a filled convex
polygon shaded by the drive's lighting, so a truck between the basestation and the transmitter
hides it in the image exactly where it cuts the radio link. An id buffer drawn alongside records
which object owns each pixel; the labeller uses it to drop objects that end up hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.synth import shapes
from rssi_ros.data.synth.geometry import FACES, box_corners, face_normals, rotate_xy
from rssi_ros.data.synth.lighting import Lighting
from rssi_ros.data.synth.rng import Stream, stream
from rssi_ros.data.synth.scene import Actor, Drive, ScenePlan
from rssi_ros.data.synth.scenery import Scenery, build_scenery

cv2.setNumThreads(1)

SUBPIXEL_BITS = 4  # cv2 fixed-point coordinates: edges placed to 1/16 pixel
SUBPIXEL = float(1 << SUBPIXEL_BITS)
MAX_IDS = 255  # the id buffer is uint8; 0 means background
GRAIN_PAD = 32
HORIZON_FAR_M = 1e5
LAMP_GLOW = 1.15
HAZE = 0.35  # how much the distant ground blends into the horizon colour
GROUND_NORMAL = np.array([0.0, 0.0, 1.0])


@dataclass
class ActorView:
    """Where one drawn object landed in the image."""

    actor: Actor
    draw_id: int
    depth_m: float
    points: NDArray[np.float64]  # (N, 2) projected corners (after near-plane clipping)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        lo, hi = self.points.min(axis=0), self.points.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


@dataclass
class RenderedFrame:
    image: NDArray[np.uint8]  # H x W x 3 RGB
    ids: NDArray[np.uint8]  # H x W, draw id of the visible object, 0 = none
    views: list[ActorView]


class Renderer:
    """Draws the frames of one scene plan; caches the background of the drive it is drawing."""

    def __init__(self, plan: ScenePlan, scenery: Scenery | None = None) -> None:
        self.plan = plan
        self.camera = plan.camera
        self.rot = plan.camera.rotation()
        self.eye = np.array([0.0, 0.0, plan.camera.height_m])
        self.near = plan.config.render.near_clip_m
        self.size = (plan.camera.height, plan.camera.width)
        self.scenery = scenery if scenery is not None else build_scenery(plan.config, plan.seed)
        self._background: tuple[int, NDArray[np.uint8]] | None = None
        self._grain = self._make_grain()

    # --- projection -------------------------------------------------------------------------
    def to_cam(self, pts: NDArray[np.float64]) -> NDArray[np.float64]:
        return (pts - self.eye) @ self.rot.T

    def project(self, cam: NDArray[np.float64]) -> NDArray[np.float64]:
        c = self.camera
        z = cam[..., 2]
        return np.stack([c.fx * cam[..., 0] / z + c.cx, c.fy * cam[..., 1] / z + c.cy], axis=-1)

    def _clip_near(self, poly: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sutherland-Hodgman clip of a camera-frame polygon (N, 3) against z >= near."""
        out = []
        n = len(poly)
        for i in range(n):
            a, b = poly[i], poly[(i + 1) % n]
            ina, inb = a[2] >= self.near, b[2] >= self.near
            if ina:
                out.append(a)
            if ina != inb:
                t = (self.near - a[2]) / (b[2] - a[2])
                out.append(a + t * (b - a))
        return np.array(out) if out else np.zeros((0, 3))

    def _polygon(self, cam_poly: NDArray[np.float64]) -> NDArray[np.float64] | None:
        """Pixel polygon of a camera-frame polygon, clipped at the near plane (None when behind)."""
        z = cam_poly[:, 2]
        if np.all(z >= self.near):
            return self.project(cam_poly)
        if not np.any(z >= self.near):
            return None
        clipped = self._clip_near(cam_poly)
        return self.project(clipped) if len(clipped) >= 3 else None

    # --- drawing ----------------------------------------------------------------------------
    @staticmethod
    def _fill(img: NDArray[np.uint8], poly: NDArray[np.float64], color) -> None:
        pts = np.round(poly * SUBPIXEL).astype(np.int32)
        cv2.fillConvexPoly(img, pts, color, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)

    def _draw_boxes(
        self,
        img: NDArray[np.uint8],
        ids: NDArray[np.uint8] | None,
        centre: NDArray[np.float64],
        yaw: float,
        parts: shapes.Parts,
        lighting: Lighting,
        draw_id: int,
    ) -> NDArray[np.float64] | None:
        """Draw an object's boxes; returns the projected points of its parts (None when not in view)."""
        off = rotate_xy(parts.offset, yaw)
        centres = np.concatenate([centre + off[:, :2], off[:, 2:]], axis=-1)
        corners = box_corners(centres, parts.half, np.full(len(parts), yaw))  # (P, 8, 3)
        cam = self.to_cam(corners)
        z = cam[..., 2]
        if not np.any(z >= self.near):
            return None
        in_front = np.all(z >= self.near, axis=-1)
        uv_all = self.project(np.where(z[..., None] > 0, cam, 1.0))
        front_pts = uv_all[in_front].reshape(-1, 2)
        all_front = bool(in_front.all())
        if all_front and not self._overlaps_image(front_pts):
            return None
        normals = face_normals(np.full(len(parts), yaw))  # (P, 6, 3)
        face_centres = corners[:, FACES].mean(axis=2)  # (P, 6, 3)
        facing = ((self.eye - face_centres) * normals).sum(-1) > 0
        colors = lighting.shade(parts.color[:, None, :], normals)
        for p in np.nonzero(parts.kind != shapes.SHADED)[0]:
            if parts.kind[p] == shapes.MARKER or lighting.lamps_on:
                colors[p] = np.clip(parts.color[p] * LAMP_GLOW, 0, 255)
        color_list = colors.tolist()
        uv_int = np.round(np.where(in_front[:, None, None], uv_all, 0.0) * SUBPIXEL).astype(np.int32)
        clipped: list[NDArray[np.float64]] = []
        depth = z.mean(axis=-1)
        members = parts.group_members
        order = sorted(range(len(members)), key=lambda i: -float(depth[members[i]].mean()))
        for gi in order:
            for p in members[gi]:
                for f in np.flatnonzero(facing[p]):
                    if in_front[p]:
                        pts = uv_int[p, FACES[f]]
                    else:
                        poly = self._polygon(cam[p, FACES[f]])
                        if poly is None:
                            continue
                        clipped.append(poly)
                        pts = np.round(poly * SUBPIXEL).astype(np.int32)
                    cv2.fillConvexPoly(img, pts, color_list[p][f], lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
                    if ids is not None:
                        cv2.fillConvexPoly(ids, pts, draw_id, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
        points = np.concatenate([front_pts, *clipped], axis=0) if clipped else front_pts
        return points if len(points) else None

    def _make_grain(self) -> tuple[NDArray[np.uint8], NDArray[np.uint8]] | None:
        std = self.plan.config.render.image_noise_std
        if std <= 0:
            return None
        h, w = self.size
        rng = stream(self.plan.seed, Stream.BACKGROUND, 1)
        noise = np.round(rng.normal(0.0, std, (h + GRAIN_PAD, w + GRAIN_PAD)))
        noise = np.repeat(np.clip(noise, -255, 255)[..., None], 3, axis=-1)
        return np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8)

    def background(self, drive: Drive) -> NDArray[np.uint8]:
        if self._background is not None and self._background[0] == drive.seq_index:
            return self._background[1]
        img = self._draw_background(drive.lighting)
        self._background = (drive.seq_index, img)
        return img

    def _draw_background(self, lighting: Lighting) -> NDArray[np.uint8]:
        h, w = self.size
        img = np.empty((h, w, 3), dtype=np.uint8)
        fwd = self.plan.road.forward
        horizon_pt = np.array([fwd[0] * HORIZON_FAR_M, fwd[1] * HORIZON_FAR_M, self.eye[2]])
        v_h = float(self.project(self.to_cam(horizon_pt))[1])
        rows = np.arange(h, dtype=np.float64)
        zen, hor = np.asarray(lighting.sky_zenith, float), np.asarray(lighting.sky_horizon, float)
        s = np.clip(rows / max(v_h, 1.0), 0.0, 1.0)[:, None]
        sky = zen * (1.0 - s) + hor * s
        ground = lighting.shade(np.asarray(self.scenery.ground[0].color, float), GROUND_NORMAL)
        ground = ground * (1 - HAZE) + hor * HAZE
        col = np.where((rows < v_h)[:, None], sky, ground)
        img[:] = np.round(col).astype(np.uint8)[:, None, :]
        for quad in self.scenery.ground:
            poly = self._polygon(self.to_cam(quad.corners))
            if poly is not None:
                color = lighting.shade(np.asarray(quad.color, float), GROUND_NORMAL)
                self._fill(img, poly, tuple(float(x) for x in color))
        props = sorted(
            self.scenery.props,
            key=lambda pr: -float(self.to_cam(np.array([*pr.centre, 0.0]))[2]),
        )
        for prop in props:
            self._draw_boxes(img, None, prop.centre, prop.yaw, prop.parts, lighting, 0)
        return img

    def render(self, drive: Drive, k: int, frame: int) -> RenderedFrame:
        """Frame k of a drive (global frame number `frame` keys the sensor grain)."""
        img = self.background(drive).copy()
        ids = np.zeros(self.size, dtype=np.uint8)
        t = float(drive.times[k])
        actors = [drive.tx, *drive.actors]
        centres = np.array([a.position(t) for a in actors])
        mid = np.array([[*c, a.height / 2.0] for c, a in zip(centres, actors, strict=True)])
        depth = self.to_cam(mid)[:, 2]
        views: list[ActorView] = []
        order = np.argsort(-depth, kind="stable")
        for i in order:
            if len(views) >= MAX_IDS:
                break
            a = actors[i]
            pts = self._draw_boxes(img, ids, centres[i], a.yaw, a.parts, drive.lighting, len(views) + 1)
            # An object entirely outside the image drew nothing, so its id is free for the next one.
            if pts is not None and self._overlaps_image(pts):
                views.append(ActorView(a, len(views) + 1, float(depth[i]), pts))
        if self._grain is not None:
            rng = stream(self.plan.seed, Stream.RENDER, frame)
            dy, dx = (int(v) for v in rng.integers(0, GRAIN_PAD, 2))
            h, w = self.size
            pos, neg = self._grain
            cv2.add(img, pos[dy : dy + h, dx : dx + w], dst=img)
            cv2.subtract(img, neg[dy : dy + h, dx : dx + w], dst=img)
        return RenderedFrame(img, ids, views)

    def _overlaps_image(self, pts: NDArray[np.float64]) -> bool:
        h, w = self.size
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return bool(hi[0] >= 0 and lo[0] < w and hi[1] >= 0 and lo[1] < h)
