"""Captcha Lab's pipeline: captcha images in, a trained letter reader out. Imports no UI."""
import os

from .config import DEFAULT, Config, Limits

# OpenCV reads this limit once, when it is first imported, so it must be set before any cv2 import.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(DEFAULT.limits.max_image_pixels))
# TensorFlow's C++ log lines are noise for students reading the terminal, and its errors too: level 2 still let
# through "E0000 ... oneDNN supports DT_BOOL only on platforms with AVX-512" on the first recurrent step and
# "error: 'tfg.While' op body function argument ..." from its graph optimiser, both harmless and both alarming. A
# real failure still reaches the user as a Python exception. Set TF_CPP_MIN_LOG_LEVEL=0 to see them all.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__all__ = ["Config", "DEFAULT", "Limits"]
