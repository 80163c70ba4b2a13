from hotline.platform.cli import main

main(prog_name="hotline")
