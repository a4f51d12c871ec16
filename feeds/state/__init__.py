"""State that is not content: the state database (:mod:`~feeds.state.database`),
which one a process uses (:mod:`~feeds.state.url`), and the partner desk
(:mod:`~feeds.state.partners`) kept in it. Nothing here knows of the content,
the outputs or publishing.
"""
