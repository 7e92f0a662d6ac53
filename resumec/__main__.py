from resumec.cli import main

main()
