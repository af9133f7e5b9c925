package io.leasehold.lock.aop;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.aop.Advisor;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.framework.AopProxyUtils;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.core.MethodIntrospector;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.transaction.interceptor.TransactionInterceptor;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.LockConfigurationException;

/**
 * Checks every {@code @DistributedLock} method of the application's singletons at start-up: its
 * attributes parse, and the bean is proxied so that calls through it really take the lock. A
 * method Spring cannot intercept would otherwise run without its lock, silently.
 */
public class LockedMethodsValidator implements SmartInitializingSingleton {

	private final ConfigurableListableBeanFactory beanFactory;

	private final LockedMethods lockedMethods;

	private final DistributedLockAdvisor advisor;

	public LockedMethodsValidator(ConfigurableListableBeanFactory beanFactory, LockedMethods lockedMethods,
			DistributedLockAdvisor advisor) {
		this.beanFactory = beanFactory;
		this.lockedMethods = lockedMethods;
		this.advisor = advisor;
	}

	@Override
	public void afterSingletonsInstantiated() {
		for (String beanName : this.beanFactory.getSingletonNames()) {
			Object bean = this.beanFactory.getSingleton(beanName);
			if (bean != null) {
				validate(beanName, bean);
			}
		}
	}

	private void validate(String beanName, Object bean) {
		Class<?> targetClass = AopProxyUtils.ultimateTargetClass(bean);
		Map<Method, DistributedLock> annotated = MethodIntrospector.selectMethods(targetClass,
				(MethodIntrospector.MetadataLookup<DistributedLock>) (method) -> AnnotatedElementUtils
					.findMergedAnnotation(method, DistributedLock.class));
		for (Method method : annotated.keySet()) {
			this.lockedMethods.find(method, targetClass);
			String problem = interceptionProblem(bean, method);
			if (problem != null) {
				throw new LockConfigurationException("@DistributedLock on " + targetClass.getName() + "."
						+ method.getName() + " (bean '" + beanName + "') would not take the lock: " + problem);
			}
		}
	}

	private @Nullable String interceptionProblem(Object bean, Method method) {
		int modifiers = method.getModifiers();
		if (Modifier.isStatic(modifiers)) {
			return "the method is static, and Spring proxies intercept only instance methods";
		}
		if (Modifier.isPrivate(modifiers)) {
			return "the method is private, and Spring proxies cannot intercept it; make it public";
		}
		int lockPosition = (bean instanceof Advised advised) ? position(advised.getAdvisors(), this.advisor) : -1;
		if (lockPosition < 0) {
			return "the bean is not proxied by Leasehold's advisor (it was created before the advisor, for example"
					+ " as a dependency of a BeanPostProcessor, or auto-proxying is off)";
		}
		Advisor[] advisors = ((Advised) bean).getAdvisors();
		for (int i = 0; i < lockPosition; i++) {
			if (advisors[i].getAdvice() instanceof TransactionInterceptor) {
				return "the transaction advisor is ordered outside the lock, so the lease would be released before"
						+ " the transaction commits; give leasehold.lock.aspect-order a value below the transaction"
						+ " advisor's order";
			}
		}
		if (AopUtils.isJdkDynamicProxy(bean)) {
			boolean onInterface = Arrays.stream(bean.getClass().getInterfaces())
				.anyMatch((type) -> !Proxy.isProxyClass(type) && declares(type, method));
			if (!onInterface) {
				return "the bean is proxied through its interfaces and the method is not on any of them; declare it"
						+ " on an interface or set spring.aop.proxy-target-class=true";
			}
		}
		else if (Modifier.isFinal(modifiers)) {
			return "the method is final, so the class-based proxy cannot override it; remove 'final'";
		}
		return null;
	}

	private static int position(Advisor[] advisors, Advisor advisor) {
		for (int i = 0; i < advisors.length; i++) {
			if (advisors[i] == advisor) {
				return i;
			}
		}
		return -1;
	}

	private static boolean declares(Class<?> type, Method method) {
		try {
			type.getMethod(method.getName(), method.getParameterTypes());
			return true;
		}
		catch (NoSuchMethodException ex) {
			return false;
		}
	}

}
