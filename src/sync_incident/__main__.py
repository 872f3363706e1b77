from sync_incident.entry import main

main()
