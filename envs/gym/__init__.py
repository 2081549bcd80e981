"""The Gymnasium environments of the built-in world: ``Platformer-v0`` (one world) and its native
vector env, both on ``EpisodeBatch`` (rewards, endings, ``info``)."""
