from sync_incident.cli import main

main()
