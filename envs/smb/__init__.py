"""The real Super Mario Bros. (the ``nes`` extra): RAM reading (``ram``), the emulator and its
episodes (``console``), the Gymnasium env ``SuperMarioBros-Tiles-v0`` (``env``), and the game's
stages as built-in levels (``levels``, from ``rom``'s tables, ``recorder``'s block-buffer
recordings and ``metatiles``' legend)."""
