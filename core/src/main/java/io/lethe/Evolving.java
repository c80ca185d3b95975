package io.lethe;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Lethe's public face, which may still change between minor versions: {@code io.lethe} (the
 * configuration and the exceptions), {@code io.lethe.api} (the entry point and its operations),
 * {@code io.lethe.types} (what they take and return) and {@code io.lethe.sql} (the SQL
 * procedures). Everything under {@code io.lethe.internal} is not public, whatever its modifiers.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.PACKAGE})
public @interface Evolving {}
