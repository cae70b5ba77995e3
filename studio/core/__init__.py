"""Plain-Python core: conversations, extraction, prompts, attachments, export. No Qt here."""
