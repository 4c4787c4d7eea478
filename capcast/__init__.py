"""capcast's front door: the command line and the settings every edge reads."""
