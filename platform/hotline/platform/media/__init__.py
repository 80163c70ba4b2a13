"""Media handling for the evidence store, knowing nothing of tickets or cities:
type detection by magic bytes, image thumbnails/EXIF/stripping, video and audio probing,
and hashing an object as it streams from the store."""
