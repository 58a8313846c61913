# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(X: T.Buffer((1, 512, 16, 16), "float32"), W: T.Buffer((512, 512, 3, 3), "float32"), B: T.Buffer((512,), "float32"), Y: T.Buffer((1, 512, 16, 16), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        pad = T.sblock_alloc_buffer((1, 512, 18, 18))
        conv = T.sblock_alloc_buffer((1, 512, 16, 16))
        for n_0_f_0_fused_fused in T.parallel(2, annotations={"pragma_auto_unroll_max_step": 16, "pragma_unroll_explicit": 1}):
            for ax0, ax1, ax2 in T.grid(1, 512, 18):
                for ax3_fused in T.vectorized(18):
                    with T.sblock("pad"):
                        v_n, v_c, v_y, v_z = T.axis.remap("SSSS", [ax0, ax1, ax2, ax3_fused])
                        T.reads(X[v_n, v_c, v_y - 1, v_z - 1])
                        T.writes(pad[v_n, v_c, v_y, v_z])
                        pad[v_n, v_c, v_y, v_z] = T.if_then_else(1 <= v_y and v_y <= 16 and 1 <= v_z and v_z <= 16, X[v_n, v_c, v_y - 1, v_z - 1], T.float32(0.0))
            for y_0, z_0 in T.grid(1, 1):
                for n_1, f_1, y_1, z_1 in T.grid(1, 64, 4, 1):
                    for n_2_init, f_2_init, y_2_init, z_2_init, n_3_init, f_3_init, y_3_init in T.grid(1, 1, 1, 2, 1, 4, 4):
                        for z_3_fused_init in T.vectorized(8):
                            with T.sblock("conv_init"):
                                v_n = T.axis.spatial(1, n_1 + n_2_init + n_3_init)
                                v_f = T.axis.spatial(512, n_0_f_0_fused_fused * 256 + f_1 * 4 + f_2_init * 4 + f_3_init)
                                v_y = T.axis.spatial(16, y_0 * 16 + y_1 * 4 + y_2_init * 4 + y_3_init)
                                v_z = T.axis.spatial(16, z_0 * 16 + z_1 * 16 + z_2_init * 8 + z_3_fused_init)
                                T.reads()
                                T.writes(conv[v_n, v_f, v_y, v_z])
                                T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                                conv[v_n, v_f, v_y, v_z] = T.float32(0.0)
                    for rc_0, ry_0, rx_0, n_2, f_2, y_2, z_2, rc_1, ry_1, rx_1, n_3, f_3, y_3 in T.grid(32, 1, 1, 1, 1, 1, 2, 16, 3, 3, 1, 4, 4):
                        for z_3_fused in T.vectorized(8):
                            with T.sblock("conv_update"):
                                v_n = T.axis.spatial(1, n_1 + n_2 + n_3)
                                v_f = T.axis.spatial(512, n_0_f_0_fused_fused * 256 + f_1 * 4 + f_2 * 4 + f_3)
                                v_y = T.axis.spatial(16, y_0 * 16 + y_1 * 4 + y_2 * 4 + y_3)
                                v_z = T.axis.spatial(16, z_0 * 16 + z_1 * 16 + z_2 * 8 + z_3_fused)
                                v_rc = T.axis.reduce(512, rc_0 * 16 + rc_1)
                                v_ry = T.axis.reduce(3, ry_0 * 3 + ry_1)
                                v_rx = T.axis.reduce(3, rx_0 * 3 + rx_1)
                                T.reads(conv[v_n, v_f, v_y, v_z], pad[v_n, v_rc, v_y + v_ry, v_z + v_rx], W[v_f, v_rc, v_ry, v_rx])
                                T.writes(conv[v_n, v_f, v_y, v_z])
                                T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                                conv[v_n, v_f, v_y, v_z] = conv[v_n, v_f, v_y, v_z] + pad[v_n, v_rc, v_y + v_ry, v_z + v_rx] * W[v_f, v_rc, v_ry, v_rx]
                for ax0, ax1, ax2 in T.grid(1, 256, 16):
                    for ax3_fused in T.vectorized(16):
                        with T.sblock("Y"):
                            v_n = T.axis.spatial(1, ax0)
                            v_f = T.axis.spatial(512, n_0_f_0_fused_fused * 256 + ax1)
                            v_y, v_z = T.axis.remap("SS", [ax2, ax3_fused])
                            T.reads(conv[v_n, v_f, v_y, v_z], B[v_f])
                            T.writes(Y[v_n, v_f, v_y, v_z])
                            Y[v_n, v_f, v_y, v_z] = conv[v_n, v_f, v_y, v_z] + B[v_f]