"""Image cache: resized images identical to the direct path, reused while the data is unchanged."""

from __future__ import annotations

import os
import pickle

import cv2
import numpy as np
import pytest
from helpers.official_scene import write_official_scene

from rssi_ros.data import cache as cache_module
from rssi_ros.data.cache import ImageCache, fingerprint, open_cache
from rssi_ros.data.images import load_rgb, resize_square
from rssi_ros.data.normalisation import MinMaxNormaliser
from rssi_ros.data.preprocess import PreprocessConfig, preprocess
from rssi_ros.data.readers import read_dataset
from rssi_ros.data.sample import Sample

SIZE = 32


@pytest.fixture
def scene(tmp_path):
    write_official_scene(tmp_path / "scene", image_wh=(64, 40))
    ds = read_dataset(tmp_path / "scene")
    ds.samples[2] = ds.samples[2].with_(image_path=None)  # one sample without an image
    return ds


def test_cached_images_equal_the_direct_decode_and_resize(scene, tmp_path):
    cache = open_cache(scene.samples, SIZE, root=tmp_path / "cache", progress=False)
    assert len(cache) == 6 and cache.images.shape == (5, SIZE, SIZE, 3) and cache.images.dtype == np.uint8
    for s in scene.samples:
        if s.image_path is None:
            assert cache.image(s.key) is None and s.key not in cache
        else:
            np.testing.assert_array_equal(cache.image(s.key), resize_square(load_rgb(s.image_path), SIZE))
    stacked, mask = cache.stack([s.key for s in scene.samples])
    assert stacked.shape == (6, SIZE, SIZE, 3) and mask.tolist() == [True, True, False, True, True, True]
    assert not stacked[2].any()
    np.testing.assert_array_equal(cache.table["rssi_db"], [s.rssi_db for s in scene.samples])
    np.testing.assert_array_equal(cache.table["seq_index"], [s.seq_index for s in scene.samples])
    with pytest.raises(KeyError):
        cache.image("scenario42:999")


def test_preprocess_with_the_cached_image_equals_preprocess_without(scene, tmp_path):
    config = PreprocessConfig(image_size=SIZE)
    cache = open_cache(scene.samples, config, root=tmp_path / "cache", progress=False)
    normaliser = MinMaxNormaliser((-100.0, -100.0), (100.0, 100.0))
    s = scene.samples[0]
    direct = preprocess(s, config, normaliser)
    cached = preprocess(s, config, normaliser, image=cache.image(s.key))
    np.testing.assert_array_equal(direct.image, cached.image)
    np.testing.assert_array_equal(direct.boxes, cached.boxes)


def test_reused_when_unchanged_rebuilt_when_data_or_size_change(scene, tmp_path, monkeypatch):
    root = tmp_path / "cache"
    first = open_cache(scene.samples, SIZE, root=root, progress=False)

    def no_build(*args, **kwargs):
        raise AssertionError("the cache was rebuilt although nothing changed")

    with monkeypatch.context() as m:
        m.setattr(cache_module, "_build", no_build)
        again = open_cache(scene.samples, SIZE, root=root, progress=False)
    assert again.folder == first.folder
    other_size = open_cache(scene.samples, SIZE * 2, root=root, progress=False)
    assert other_size.folder != first.folder and other_size.image_size == SIZE * 2
    # Rewriting an image (new content, new mtime) changes the fingerprint.
    path = scene.samples[0].image_path
    before = fingerprint(scene.samples, SIZE)
    pixels = np.full((40, 64, 3), 200, np.uint8)
    assert cv2.imwrite(str(path), pixels)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert fingerprint(scene.samples, SIZE) != before
    rebuilt = open_cache(scene.samples, SIZE, root=root, progress=False)
    assert rebuilt.folder != first.folder
    np.testing.assert_array_equal(rebuilt.image(scene.samples[0].key), resize_square(load_rgb(path), SIZE))
    # A changed label changes it too (the table is cached alongside).
    relabelled = [scene.samples[0].with_(rssi_db=0.0), *scene.samples[1:]]
    assert fingerprint(relabelled, SIZE) != fingerprint(scene.samples, SIZE)
    assert not list(root.glob(".*tmp*"))


def test_undecodable_image_is_masked_and_listed(scene, tmp_path):
    bad = scene.samples[1].image_path
    bad.write_bytes(b"not a jpeg")
    cache = open_cache(scene.samples, SIZE, root=tmp_path / "cache", progress=False)
    assert cache.image(scene.samples[1].key) is None
    assert list(cache.failed) == [scene.samples[1].key]
    assert cache.image(scene.samples[0].key) is not None


def test_in_memory_images_and_pickling_for_workers(tmp_path):
    rng = np.random.default_rng(0)
    samples = [
        Sample(
            33.0, -111.0, 33.001, -111.001, image=rng.integers(0, 255, (20, 30, 3), dtype=np.uint8), index=i
        )
        for i in range(3)
    ]
    cache = open_cache(samples, SIZE, root=tmp_path / "cache", progress=False)
    clone = pickle.loads(pickle.dumps(cache))
    assert isinstance(clone, ImageCache) and clone._images is None
    for s in samples:
        np.testing.assert_array_equal(clone.image(s.key), resize_square(s.image, SIZE))
    with pytest.raises(ValueError, match="unique"):
        open_cache([*samples, samples[0]], SIZE, root=tmp_path / "cache", progress=False)
