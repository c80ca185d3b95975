package io.lethe.internal.engine

import breeze.linalg.{DenseVector => BDV}
import breeze.optimize.{CachedDiffFunction, DiffFunction, FirstOrderMinimizer, LBFGS, OWLQN}
import java.util.function.ToDoubleBiFunction

/**
 * Runs breeze's L-BFGS (or OWLQN, with an L1 part) on an objective written in Java (an `Objective`,
 * passed as `objective::evaluate`: value returned, gradient written into the second array), the way
 * spark.ml's linear estimators drive it: memory 10, their tolerance, every state consumed until
 * the optimizer stops. The only Scala in Lethe: Java cannot implement DiffFunction. It names no
 * Lethe type, so the build compiles it alone, before and apart from the Java sources.
 */
object BreezeMinimizer {

  /** Where the optimizer stopped, after how many iterations, and whether it converged (else maxIter stopped it). */
  final class Result(val x: Array[Double], val iterations: Int, val converged: Boolean)

  private def converged(reason: Option[FirstOrderMinimizer.ConvergenceReason]): Boolean =
    reason.exists(_ != FirstOrderMinimizer.MaxIterations)

  /**
   * @param l1 the L1 weight of each coordinate (OWLQN), or null for none (L-BFGS)
   */
  def minimize(objective: ToDoubleBiFunction[Array[Double], Array[Double]], init: Array[Double], maxIter: Int, memory: Int, tolerance: Double,
      l1: Array[Double]): Result = {
    val f = new DiffFunction[BDV[Double]] {
      override def calculate(x: BDV[Double]): (Double, BDV[Double]) = {
        val gradient = new Array[Double](x.length)
        val value = objective.applyAsDouble(x.toArray, gradient)
        (value, new BDV[Double](gradient))
      }
    }
    val start = new BDV[Double](init.clone())
    // OWLQN is an L-BFGS with an orthant-wise step: one loop drives either.
    val optimizer: LBFGS[BDV[Double]] =
      if (l1 == null) new LBFGS[BDV[Double]](maxIter, memory, tolerance)
      else new OWLQN[Int, BDV[Double]](maxIter, memory, (i: Int) => l1(i), tolerance)
    val states = optimizer.iterations(new CachedDiffFunction(f), start)
    var state: optimizer.State = null
    while (states.hasNext) {
      state = states.next()
    }
    new Result(state.x.toArray, state.iter, converged(state.convergenceReason))
  }
}
