"""Zeroth-order and layer-local (BP-free) trainers that use the chip's Oracle only."""
