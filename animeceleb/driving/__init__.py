"""Driving from a human face: video or webcam frames -> AnimeCeleb pose sequences; presets; Deep3DFaceRecon input.

Never imports ``animeceleb.models``: the output is plain poses (N, 20) or vox motion (N, 70) for any renderer.
"""

from animeceleb.driving.drive import DriveResult, drive_frames, drive_video
from animeceleb.driving.landmarks import FaceFeatures, measure_face, mirror_landmarks
from animeceleb.driving.mat import load_coeffs, load_vox_motion
from animeceleb.driving.pose_csv import read_pose_csv, write_pose_csv
from animeceleb.driving.pose_estimation import DriveOptions, PoseEstimator
from animeceleb.driving.presets import PRESETS, preset_poses
from animeceleb.driving.smoothing import OneEuroFilter
from animeceleb.driving.tracker import BACKENDS, FaceTracker
from animeceleb.driving.video import VideoInfo, VideoReader, probe_video, read_video, write_video

__all__ = [
    "BACKENDS",
    "PRESETS",
    "DriveOptions",
    "DriveResult",
    "FaceFeatures",
    "FaceTracker",
    "OneEuroFilter",
    "PoseEstimator",
    "VideoInfo",
    "VideoReader",
    "drive_frames",
    "drive_video",
    "load_coeffs",
    "load_vox_motion",
    "measure_face",
    "mirror_landmarks",
    "preset_poses",
    "probe_video",
    "read_pose_csv",
    "read_video",
    "write_pose_csv",
    "write_video",
]
