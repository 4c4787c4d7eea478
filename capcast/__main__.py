from capcast.cli import app

app(prog_name="capcast")
