"""Provider adapters: Meta Graph (WhatsApp, Messenger, Instagram) and Gmail."""
