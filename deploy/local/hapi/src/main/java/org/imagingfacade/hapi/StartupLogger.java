package org.imagingfacade.hapi;

import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/** Prints one clear line when the server is ready to serve requests, and one when it stops. */
@Component
public class StartupLogger {

	private static final Logger log = LoggerFactory.getLogger(StartupLogger.class);

	private final FacadeSettings settings;
	private final Environment env;

	public StartupLogger(FacadeSettings settings, Environment env) {
		this.settings = settings;
		this.env = env;
	}

	@EventListener
	public void onReady(ApplicationReadyEvent event) {
		int port = event.getApplicationContext() instanceof WebServerApplicationContext web
				? web.getWebServer().getPort()
				: -1;
		String bind = env.getProperty("server.address", "0.0.0.0");
		long uptimeMs = ManagementFactory.getRuntimeMXBean().getUptime();
		log.info(
				"HAPI FHIR R4 server STARTED: http://{}:{}/fhir (db: {}) in {} ms",
				bind,
				port,
				settings.description(),
				uptimeMs);
	}

	@EventListener
	public void onClose(ContextClosedEvent event) {
		log.info("HAPI FHIR server stopping");
	}
}
