# systemd units and the sample /etc/security/acctsec.conf.
# Included from the top-level Makefile.am: paths are relative to the top.

systemdsystemunit_DATA = systemd/acctsecd.socket systemd/acctsecd-private.socket systemd/acctsecd.service
CLEANFILES += systemd/acctsecd.service
# /run/acctsec and root's /run/acctsec/private, made at boot before the sockets.
tmpfiles_DATA = systemd/acctsec.conf
CLEANFILES += systemd/acctsec.conf
systemd/acctsec.conf: $(srcdir)/systemd/acctsec.tmpfiles
	$(AM_V_GEN)$(MKDIR_P) systemd && cp $(srcdir)/systemd/acctsec.tmpfiles $@
EXTRA_DIST += \
	systemd/acctsecd.socket \
	systemd/acctsecd-private.socket \
	systemd/acctsec.tmpfiles \
	systemd/acctsecd.service.in \
	doc/acctsec.conf.sample \
	doc/pam.d/acctsec

# Substituted by make, not by configure: configure leaves sbindir as
# "${exec_prefix}/sbin", and only make expands it to a real path.
systemd/acctsecd.service: $(srcdir)/systemd/acctsecd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	rm -f $@ $@.tmp && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/systemd/acctsecd.service.in >$@.tmp && \
	mv -f $@.tmp $@

# The sample configuration: installed as $(sysconfdir)/security/acctsec.conf
# only when there is no such file yet (an admin's file is never replaced),
# and uninstalled only when it is still the unchanged sample.
acctsec_conf = $(DESTDIR)$(sysconfdir)/security/acctsec.conf

install-data-local: install-acctsec-conf install-pam-service
uninstall-local: uninstall-acctsec-conf uninstall-pam-service

# /etc/pam.d/acctsec: where acctsecd checks a password (acctsec mfa disable).
# Like the config, never replaces an admin's file.
pam_service = $(DESTDIR)$(sysconfdir)/pam.d/acctsec

install-pam-service:
	@$(NORMAL_INSTALL)
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)/pam.d'
	@if test -e '$(pam_service)' || test -h '$(pam_service)'; then \
	  echo "keeping the existing $(pam_service)"; \
	else \
	  echo " $(INSTALL) -m 0644 $(srcdir)/doc/pam.d/acctsec '$(pam_service)'"; \
	  $(INSTALL) -m 0644 $(srcdir)/doc/pam.d/acctsec '$(pam_service)'; \
	fi

uninstall-pam-service:
	@$(NORMAL_UNINSTALL)
	@if test -f '$(pam_service)' && cmp -s '$(pam_service)' $(srcdir)/doc/pam.d/acctsec; then \
	  echo " rm -f '$(pam_service)'"; \
	  rm -f '$(pam_service)'; \
	fi

install-acctsec-conf:
	@$(NORMAL_INSTALL)
	$(MKDIR_P) '$(DESTDIR)$(sysconfdir)/security'
	@if test -e '$(acctsec_conf)' || test -h '$(acctsec_conf)'; then \
	  echo "keeping the existing $(acctsec_conf)"; \
	else \
	  echo " $(INSTALL) -m 0644 $(srcdir)/doc/acctsec.conf.sample '$(acctsec_conf)'"; \
	  $(INSTALL) -m 0644 $(srcdir)/doc/acctsec.conf.sample '$(acctsec_conf)'; \
	fi

uninstall-acctsec-conf:
	@$(NORMAL_UNINSTALL)
	@if test -f '$(acctsec_conf)' && test ! -h '$(acctsec_conf)' && \
	    cmp -s '$(acctsec_conf)' $(srcdir)/doc/acctsec.conf.sample; then \
	  echo " rm -f '$(acctsec_conf)'"; \
	  rm -f '$(acctsec_conf)'; \
	elif test -e '$(acctsec_conf)'; then \
	  echo "keeping $(acctsec_conf): it differs from the sample"; \
	fi

.PHONY: install-acctsec-conf uninstall-acctsec-conf install-pam-service uninstall-pam-service

# distcheck installs under a scratch prefix as whoever runs it: keep every
# installation directory inside that prefix.  (configure detects the PAM
# module directory as an absolute system path such as
# /usr/lib/x86_64-linux-gnu/security, which distcheck must not write to.)
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$${prefix}/lib/systemd/system' \
	--with-pamdir='$${libdir}/security'
