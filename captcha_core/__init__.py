"""Captcha Lab's pipeline: captcha images in, a trained letter reader out. Imports no UI."""
import os

from .config import DEFAULT, Config, Limits

# OpenCV reads this limit once, when it is first imported, so it must be set before any cv2 import.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(DEFAULT.limits.max_image_pixels))
# TensorFlow's C++ start-up chatter is noise for students reading the terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = ["Config", "DEFAULT", "Limits"]
