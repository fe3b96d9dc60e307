from fiscald.cli import main

main()
