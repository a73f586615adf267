package org.imagingfacade.hapi;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.jpa.subscription.match.config.SubscriptionProcessorConfig;
import ca.uhn.fhir.jpa.subscription.submit.config.SubscriptionSubmitterConfig;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Import;
import org.springframework.core.env.SimpleCommandLinePropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * Entry point of the Imaging Facade local FHIR server: a HAPI FHIR JPA server (R4) served by
 * Spring Boot's embedded Tomcat under {@code /fhir}.
 *
 * <p>Spring Boot auto-configuration is used only for the web container and the JDBC pool; the
 * JPA/Hibernate layer is configured by HAPI (see {@link FhirServerConfig}), so the Boot JPA,
 * Flyway, Quartz, Thymeleaf and Elasticsearch auto-configurations (whose libraries come in
 * transitively with HAPI) are switched off.
 */
@SpringBootApplication(
		excludeName = {
			"org.springframework.boot.autoconfigure.orm.jpa.HibernateJpaAutoConfiguration",
			"org.springframework.boot.autoconfigure.flyway.FlywayAutoConfiguration",
			"org.springframework.boot.autoconfigure.quartz.QuartzAutoConfiguration",
			"org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration",
			"org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration",
			"org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchClientAutoConfiguration",
			"org.springframework.boot.autoconfigure.data.jpa.JpaRepositoriesAutoConfiguration",
			"org.springframework.boot.autoconfigure.mail.MailSenderAutoConfiguration",
			"org.springframework.boot.autoconfigure.mail.MailSenderValidatorAutoConfiguration",
			"org.springframework.boot.autoconfigure.sql.init.SqlInitializationAutoConfiguration"
		})
@Import({
	FhirServerConfig.class,
	// batch2 job framework (used by reindex, $expunge/delete-expunge and bulk jobs)
	JpaBatch2Config.class,
	Batch2JobsConfig.class,
	// subscriptions: submit resource changes -> in-memory match -> deliver (rest-hook)
	SubscriptionSubmitterConfig.class,
	SubscriptionProcessorConfig.class,
	SubscriptionChannelConfig.class
})
public class FacadeHapiApplication {

	public static void main(String[] args) {
		// Fail fast with a one-line message on bad settings (before HAPI's ~1 min of startup).
		StandardEnvironment env = new StandardEnvironment();
		env.getPropertySources().addFirst(new SimpleCommandLinePropertySource(args));
		try {
			FacadeSettings.from(env);
		} catch (RuntimeException e) {
			System.err.println("facade-hapi: invalid configuration: " + e.getMessage());
			System.exit(2);
		}
		SpringApplication.run(FacadeHapiApplication.class, args);
	}
}
