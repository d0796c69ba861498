"""What people read: the status view, report tables, reminder and letter wording.

Plain values in, text (or PDF bytes) out: no database, no transports, no clock. Commands, the
reminder job and a later web page all render through here, so one wording serves them all.
"""
