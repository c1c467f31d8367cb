"""Active Directory domain knowledge with no I/O.

Security descriptors and rights GUIDs, AD time intervals, SIDs, DNs, GptTmpl.inf files and the
authentication-phone format. Readers and writers use these; checks use them through the
snapshot models. Nothing here opens a socket or a file.
"""
