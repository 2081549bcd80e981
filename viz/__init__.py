"""What the user watches: the MarI/O overlay (inputs, network, buttons), races, the window loop
over the built-in world and the real game, videos, and comparison plots. Built on the world
drawing of ``envs.render``; nothing here changes a game's rules.
"""
