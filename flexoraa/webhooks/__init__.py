"""The one inbox for providers' webhooks: adapters (``adapters``), the endpoint view
(``endpoint``) and the life of a stored delivery (``services``)."""
