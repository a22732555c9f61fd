"""Video avatars: a clip of a person talking, animated with its own mouths.

Image-based, in the manner of Video Rewrite (Bregler et al., 1997): the clip is read once
(``read``), every frame's mouth described (``atlas``), and for new speech each output frame
gets the clip's best-fitting mouth (``choose``), placed on the clip's own frame (``place``)
while the clip plays behind (``timeline``). ``avatar`` joins them and caches the result.
"""

from .avatar import Clip, ClipAvatar, build_clip_avatar, cache_root, read_clip

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi"})

__all__ = ["VIDEO_SUFFIXES", "Clip", "ClipAvatar", "build_clip_avatar", "cache_root", "read_clip"]
