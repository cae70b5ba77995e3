"""Persistence (SQLite, WAL) and per-user paths and settings. No Qt here.

- :mod:`studio.store.library`: :class:`~studio.store.library.Library`, conversations as trees of
  messages, attachments, FTS5 search, artifact versions (:mod:`studio.store.versions`).
- :mod:`studio.store.writer`: :class:`~studio.store.writer.LibraryWriter`, writes off the caller's thread.
- :mod:`studio.store.db` / :mod:`studio.store.schema`: opening, migrations, corrupt-file recovery.
- :mod:`studio.store.paths` / :mod:`studio.store.settings`: where things live; the settings file.
- :mod:`studio.store.secrets`: API keys of remote servers, in the system keyring.
"""
