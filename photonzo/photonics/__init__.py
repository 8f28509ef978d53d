"""The simulated photonic chip: MZI meshes, optical layers, hardware non-idealities, the Oracle."""
