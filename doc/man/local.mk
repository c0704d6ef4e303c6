# Manual pages.  Included from the top-level Makefile.am: paths are
# relative to the top directory.
dist_man_MANS += \
	doc/man/pam_acctsec.8 \
	doc/man/acctsecd.8 \
	doc/man/acctsec.1 \
	doc/man/acctsec.conf.5 \
	doc/man/acctsec-fleet.7
