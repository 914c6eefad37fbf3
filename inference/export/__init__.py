"""Exporters of redacted 8-bit frames: JPEG per frame (jpg.py), H.264 MP4 per cine (mp4.py)."""
