"""What happened when: timelines read from git and the ledgers, and their rendering."""
