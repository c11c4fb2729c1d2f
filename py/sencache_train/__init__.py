"""Procedural text-to-video data, training and a prompt-following checker for the bundled tiny Wan model."""
