package org.imagingfacade.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.provider.SubscriptionTriggeringProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.match.deliver.email.IEmailSender;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.interceptor.CorsInterceptor;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import com.zaxxer.hikari.HikariDataSource;
import jakarta.persistence.EntityManagerFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.hl7.fhir.dstu2.model.Subscription.SubscriptionChannelType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;
import org.springframework.transaction.annotation.EnableTransactionManagement;
import org.springframework.web.cors.CorsConfiguration;

/**
 * HAPI FHIR JPA (R4) wiring: storage settings, database, JPA, and the FHIR RestfulServer
 * servlet mounted at {@code /fhir/*}.
 */
@Configuration
@EnableTransactionManagement
@Import({JpaR4Config.class, HapiJpaConfig.class, ThreadPoolFactoryConfig.class})
public class FhirServerConfig {

	private static final Logger log = LoggerFactory.getLogger(FhirServerConfig.class);

	// ---------------------------------------------------------------- settings

	@Bean
	public FacadeSettings facadeSettings(org.springframework.core.env.Environment env) {
		return FacadeSettings.from(env);
	}

	@Bean
	public JpaStorageSettings jpaStorageSettings(FacadeSettings settings) {
		JpaStorageSettings s = new JpaStorageSettings();
		// A search answered from HAPI's cache of earlier results can miss a study that arrived since
		// (60 s by default): an EHR that searched before the exam came would not see it. Off by default
		// (HAPI_SEARCH_CACHE_MS), so every client sees a new study as soon as it is indexed.
		s.setReuseCachedSearchResultsForMillis(settings.searchCacheMs() > 0 ? settings.searchCacheMs() : null);
		// conditional create/update/delete via match URLs (the defaults, stated explicitly)
		s.setAllowInlineMatchUrlReferences(true);
		// deletes + expunge, multiple-match conditional delete
		s.setDeleteEnabled(true);
		s.setAllowMultipleDelete(true);
		s.setExpungeEnabled(true);
		// references must point to resources in this server; no placeholder auto-creation
		s.setAllowExternalReferences(false);
		s.setAutoCreatePlaceholderReferenceTargets(false);
		// no Lucene/Elasticsearch
		s.setHibernateSearchIndexFullText(false);
		s.setHibernateSearchIndexSearchParams(false);
		s.setAdvancedHSearchIndexing(false);
		return s;
	}

	@Bean
	public PartitionSettings partitionSettings() {
		return new PartitionSettings(); // partitioning disabled
	}

	@Bean
	public SubscriptionSettings subscriptionSettings(FacadeSettings settings) {
		SubscriptionSettings s = new SubscriptionSettings();
		s.addSupportedSubscriptionType(SubscriptionChannelType.RESTHOOK);
		s.setEnableInMemorySubscriptionMatching(true);
		// Resource changes are persisted in the commit and handed to the subscription matcher by a
		// poller; HAPI's default period is 5 s, we poll every second (HAPI_SUBSCRIPTION_POLL_MS).
		// (Not "queued immediately": that hands Subscription changes over before the commit and
		// HAPI then logs retry ERRORs while the new Subscription is not yet visible.)
		s.setSubscriptionIntervalInMs(settings.subscriptionPollMs());
		return s;
	}

	/** Email subscriptions are not enabled; HAPI's subscription processor still needs a sender bean. */
	@Bean
	public IEmailSender emailSender() {
		return details -> log.warn("Email subscriptions are not supported on this server; ignoring delivery");
	}

	// ---------------------------------------------------------------- database / JPA

	@Bean(destroyMethod = "close")
	public HikariDataSource dataSource(FacadeSettings settings) {
		return settings.createDataSource();
	}

	@Bean
	@Primary
	public LocalContainerEntityManagerFactoryBean entityManagerFactory(
			ConfigurableListableBeanFactory beanFactory,
			FhirContext fhirContext,
			JpaStorageSettings storageSettings,
			DataSource dataSource,
			FacadeSettings settings) {
		LocalContainerEntityManagerFactoryBean emf =
				HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
		emf.setPersistenceUnitName("HAPI_PU");
		emf.setDataSource(dataSource);

		Map<String, Object> p = new HashMap<>();
		p.put("hibernate.dialect", settings.hibernateDialect());
		p.put("hibernate.hbm2ddl.auto", "update"); // create/update the schema at startup
		p.put("hibernate.archive.scanner", "org.hibernate.boot.archive.scan.internal.DisabledScanner");
		p.put("hibernate.physical_naming_strategy",
				"org.hibernate.boot.model.naming.CamelCaseToUnderscoresNamingStrategy");
		p.put("hibernate.implicit_naming_strategy",
				"org.springframework.boot.orm.jpa.hibernate.SpringImplicitNamingStrategy");
		p.put("hibernate.jdbc.batch_size", "20");
		p.put("hibernate.format_sql", "false");
		p.put("hibernate.show_sql", "false");
		p.put("hibernate.cache.use_query_cache", "false");
		p.put("hibernate.cache.use_second_level_cache", "false");
		p.put("hibernate.cache.use_structured_entries", "false");
		p.put("hibernate.cache.use_minimal_puts", "false");
		// Hibernate Search (Lucene/Elasticsearch) off
		p.put("hibernate.search.enabled", "false");
		emf.setJpaPropertyMap(p);
		return emf;
	}

	@Bean
	@Primary
	public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
		JpaTransactionManager tm = new JpaTransactionManager();
		tm.setEntityManagerFactory(entityManagerFactory);
		return tm;
	}

	// ---------------------------------------------------------------- REST server

	@Bean
	public RestfulServer restfulServer(
			IFhirSystemDao<?, ?> systemDao,
			ResourceProviderFactory resourceProviderFactory,
			IJpaSystemProvider systemProvider,
			JpaStorageSettings storageSettings,
			ISearchParamRegistry searchParamRegistry,
			IValidationSupport validationSupport,
			DatabaseBackedPagingProvider pagingProvider,
			ObjectProvider<SubscriptionTriggeringProvider> subscriptionTriggeringProvider) {
		FhirContext ctx = systemDao.getContext();
		RestfulServer server = new RestfulServer(ctx);
		// one JPA resource provider per R4 resource type (CRUD, search, $validate, $expunge, ...)
		server.registerProviders(resourceProviderFactory.createProviders());
		// system level: transaction/batch Bundles, _history, $expunge, ...
		server.registerProvider(systemProvider);
		// $trigger-subscription
		subscriptionTriggeringProvider.ifAvailable(server::registerProvider);

		JpaCapabilityStatementProvider capabilities = new JpaCapabilityStatementProvider(
				server, systemDao, storageSettings, searchParamRegistry, validationSupport);
		capabilities.setImplementationDescription("Imaging Facade HAPI FHIR R4 server");
		server.setServerConformanceProvider(capabilities);

		server.setPagingProvider(pagingProvider);
		server.setDefaultResponseEncoding(EncodingEnum.JSON);
		server.registerInterceptor(corsInterceptor());
		return server;
	}

	@Bean
	public ServletRegistrationBean<RestfulServer> fhirServletRegistration(RestfulServer restfulServer) {
		ServletRegistrationBean<RestfulServer> reg = new ServletRegistrationBean<>(restfulServer, "/fhir/*");
		reg.setName("fhirServlet");
		reg.setLoadOnStartup(1);
		return reg;
	}

	private static CorsInterceptor corsInterceptor() {
		CorsConfiguration cors = new CorsConfiguration();
		cors.addAllowedOriginPattern("*");
		cors.setAllowedHeaders(List.of(
				"Origin", "Accept", "Content-Type", "Authorization", "Cache-Control", "If-Match",
				"If-None-Exist", "If-None-Match", "If-Modified-Since", "Prefer", "X-Requested-With"));
		cors.setExposedHeaders(List.of("Location", "Content-Location", "ETag", "Last-Modified"));
		cors.setAllowedMethods(List.of("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"));
		cors.setAllowCredentials(false);
		return new CorsInterceptor(cors);
	}
}
