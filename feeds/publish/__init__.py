"""Publishing: the planned outputs built and exported (``feeds build``, the
fast path, ``feeds deploy``, ``feeds watch``), and who is told of a change
(:mod:`~feeds.publish.notify`: the hub, the CDN, partners' stream and webhooks).
"""
