package io.leasehold.lock.autoconfigure;

import org.springframework.aop.config.AopConfigUtils;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.type.AnnotationMetadata;

/**
 * Makes sure an auto-proxy creator applies the {@code @DistributedLock} advisor, as
 * {@code @EnableTransactionManagement} and {@code @EnableCaching} do for theirs: Spring Boot
 * registers none when {@code spring.aop.proxy-target-class=false} and AspectJ is absent. An
 * existing, more capable creator is kept.
 */
class AutoProxyRegistrar implements ImportBeanDefinitionRegistrar {

	@Override
	public void registerBeanDefinitions(AnnotationMetadata importingClassMetadata, BeanDefinitionRegistry registry) {
		AopConfigUtils.registerAutoProxyCreatorIfNecessary(registry);
	}

}
