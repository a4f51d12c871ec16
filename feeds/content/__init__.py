"""Content: the files of a content directory to a validated model.

Reading (:mod:`~feeds.content.documents`), validating
(:mod:`~feeds.content.validate`, :mod:`~feeds.content.fields`), the one
sanitiser (:mod:`~feeds.content.sanitize`), and what is held back
(:mod:`~feeds.content.holdback`), put together by :mod:`~feeds.content.directory`;
the commands that edit content (``feeds new``, ``feeds publish``). Nothing here
knows of the outputs, of publishing or of the state database.
"""
