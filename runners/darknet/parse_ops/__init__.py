"""DarkNet cfg sections -> IR: one converter per section type, registered with `PARSE.register`."""
