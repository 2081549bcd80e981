"""The real Super Mario Bros. (the ``nes`` extra): RAM reading (``ram``), the emulator and its
episodes (``console``), and the Gymnasium env ``SuperMarioBros-Tiles-v0`` (``env``)."""
